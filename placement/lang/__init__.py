"""The language: text -> AST (parser) -> typed IR (check)."""
