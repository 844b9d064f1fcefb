"""Profiles: the typed model, the .conf and TOML readers and writers, the profile store."""
