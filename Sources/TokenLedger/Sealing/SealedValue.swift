/// A secret or token encrypted at rest: `v2.<key id>.<base64 of nonce, ciphertext and tag>`
/// (`v1` for values sealed before their field was bound, which still open).
///
/// It encodes as that single string, so the log's JSON never holds a plaintext secret.
public struct SealedValue: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The sealed text.
    public let text: String

    /// Wraps an already sealed text.
    public init(text: String) { self.text = text }

    /// The sealed forms, by what their associated data binds.
    enum Form: String {
        /// The stream only: sealed before fields were bound; opens in any field of its stream.
        case streamBound = "v1"
        /// The event field and the stream (`SealedField`).
        case bound = "v2"
    }

    /// The key id the value was sealed with (`nil` if the text is not in the sealed form).
    public var keyID: String? {
        let parts = text.split(separator: ".", maxSplits: 2)
        return parts.count == 3 && Form(rawValue: String(parts[0])) != nil ? String(parts[1]) : nil
    }

    /// Whether the value is bound to its event field (the `v2` form), not only to its stream.
    public var isFieldBound: Bool { text.hasPrefix(Form.bound.rawValue + ".") }

    /// Never the plaintext: only the key id.
    public var description: String { "sealed(\(keyID ?? "?"))" }

    /// Decodes from a single string.
    public init(from decoder: any Decoder) throws {
        self.text = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes as a single string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
