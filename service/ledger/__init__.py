"""The rewards and penalties ledger of the information groups (附件四)."""
