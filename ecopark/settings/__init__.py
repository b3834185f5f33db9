"""Settings: `dev` (the default: first run and tests) and `production`, both built on `base`."""
