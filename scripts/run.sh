#!/usr/bin/env bash
# Set up everything and run the main job: a real refinement of the bundled sample products
# on the bundled default model, fully offline.
source "$(dirname "$0")/_venv.sh" ""
exec .venv/bin/copyloop demo "$@"
