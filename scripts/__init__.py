"""Developer and operator scripts (write_dev_env, stack); run as files, imported by tests."""
