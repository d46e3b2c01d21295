"""The token's rules: the schema model and its column roles, the expiry format, the codec between
the SDK's ``OAuthToken`` and rows, and the package's errors."""
