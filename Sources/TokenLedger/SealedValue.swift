/// A secret or token encrypted at rest: `v1.<key id>.<base64 of nonce, ciphertext and tag>`.
///
/// It encodes as that single string, so the log's JSON never holds a plaintext secret.
public struct SealedValue: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The sealed text.
    public let text: String

    /// Wraps an already sealed text.
    public init(text: String) { self.text = text }

    /// The key id the value was sealed with (`nil` if the text is not in the sealed form).
    public var keyID: String? {
        let parts = text.split(separator: ".", maxSplits: 2)
        return parts.count == 3 && parts[0] == "v1" ? String(parts[1]) : nil
    }

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
