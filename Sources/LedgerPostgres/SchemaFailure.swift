/// The log's schema is not up to date and this role cannot bring it there, or a migration failed:
/// what happened and what the operator does about it. Nothing of a failed migration is recorded.
///
/// Apart from `LedgerError` because it is never an answer to a caller: it stops `serve` and
/// `migrate` at start. The message holds PostgreSQL's own words (a role or table name, never a
/// password: URLs are not part of it).
public struct SchemaFailure: Error, Sendable, CustomStringConvertible {
    /// What happened, and what to do.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
