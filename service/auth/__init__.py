"""People: users, sign-in, roles and their scope, device tokens, Open311 keys, the audit."""
