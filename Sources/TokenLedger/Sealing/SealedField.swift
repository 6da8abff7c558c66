/// The event field a value is sealed for. Its name is bound to the value as AES-GCM associated
/// data (with the stream), so that whoever can write the log cannot move a sealed secret into a
/// token field, where it would be served: it no longer opens there.
public struct SealedField: Sendable, Hashable, CustomStringConvertible {
    /// `event type/field`, e.g. `token.issued/token`: the associated data, so never to be renamed.
    public let name: String

    private init(_ type: EventType, _ field: String) {
        name = "\(type.rawValue)/\(field)"
    }

    /// The app's secret in `credentials.set`.
    public static let secret = SealedField(.credentialsSet, "secret")
    /// The token in `token.issued`.
    public static let token = SealedField(.tokenIssued, "token")
    /// The refresh token in `token.issued` (Alipay).
    public static let refreshToken = SealedField(.tokenIssued, "refresh_token")

    /// The name.
    public var description: String { name }
}
