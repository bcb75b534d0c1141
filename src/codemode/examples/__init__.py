"""Example tools bundled with codemode, used by the README, the demo and the tests."""
