"""Everything that touches the Zoho SDK's internals or differs between its generations.

Each workaround for a missing public hook is one small function here, tested on every supported
SDK generation (``tests/test_sdk_shims.py``), so a new SDK release fails one named test.
"""
