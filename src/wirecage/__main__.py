from wirecage.cli import run

run()
