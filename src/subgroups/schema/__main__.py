"""`python -m subgroups.schema`: print the JSON Schema of results.json; `--write-schema [PATH]` writes it
(default: this folder's `results.schema.json`, the committed file)."""

from subgroups.results import main

main()
