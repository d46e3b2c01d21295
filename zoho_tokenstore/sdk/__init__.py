"""Everything that touches the Zoho SDK's internals or differs between its generations: one
small function per missing hook, each with a named test (docs/sdk-generations.md)."""
