/// The `data` of `DELETE /token/…` and `DELETE /token/…/credentials`: whether an event was
/// appended (false: no token to revoke, or the app was already removed) and its log position.
struct RetireBody: Encodable {
    let stream: String
    let changed: Bool
    /// The event's position (absent when nothing changed): send it as `X-Ledger-Min-Position`
    /// to see the change on another replica.
    let position: String?
}
