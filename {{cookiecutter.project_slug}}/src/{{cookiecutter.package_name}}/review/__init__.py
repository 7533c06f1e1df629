"""What CI runs on a pull request: verify results reproduce, report changes, post them."""
