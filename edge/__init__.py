"""The HTTP edge shared by the apps: OpenAPI response helpers and the shared response schemas.

It imports authbridge at most and nothing else of this project, so ``tasks`` and
``todo_project`` can both build on it without importing each other (issue 20 grows it).
"""
