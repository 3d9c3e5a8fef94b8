"""The JSON error bodies every route shares (CONTRACT §5), for the OpenAPI document."""

from ninja import Schema


class DetailOut(Schema):
    detail: str


class ValidationIssue(Schema):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(Schema):
    detail: list[ValidationIssue]
