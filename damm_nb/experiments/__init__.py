"""The experiments: each module runs one study on the library (notebooks 13 to 16)."""
