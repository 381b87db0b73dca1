"""The pure domain: values and rules with no I/O and no framework imports."""
