/// The metadata keys of every log line, in one place.
public enum LogKey {
    /// The stream (`project/platform/appid`).
    public static let stream = "ledger.stream"
    /// A log position.
    public static let position = "ledger.position"
    /// The request id.
    public static let requestID = "ledger.request_id"
    /// An error's description (never a secret).
    public static let error = "ledger.error"
    /// Why a refresh happened.
    public static let reason = "ledger.reason"
    /// A platform name.
    public static let platform = "ledger.platform"
    /// A webhook's id.
    public static let webhook = "ledger.webhook"
}
