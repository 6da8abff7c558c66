import Foundation
import Hummingbird
import NIOCore
import TokenLedger

/// A request body read as a JSON object, with the service's own words for every way it can be
/// wrong: `invalid_input` and a message naming the field, never a decoder's diagnostic.
protocol JSONBody: Decodable {
    /// An example of the body, quoted when it is not a JSON object.
    static var example: String { get }
    /// The value of an empty body, or nil when a body is required.
    static var empty: Self? { get }
}

extension JSONBody {
    /// Bodies are small JSON objects; a larger one is refused before it is parsed.
    static var maxSize: Int { 64 * 1024 }

    /// Reads and decodes the body of `request`.
    static func read(from request: Request) async throws -> Self {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxSize)
        } catch {
            throw LedgerError(.invalidInput, "the body is larger than \(maxSize) bytes")
        }
        let bytes = Data(buffer.readableBytesView)
        if let empty, bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return empty }
        do {
            return try JSONDecoder().decode(Self.self, from: bytes)
        } catch is DecodingError {
            // Not JSON, or not an object: the fields' own errors are LedgerErrors already.
            throw LedgerError(.invalidInput, "the body must be a JSON object like \(example)")
        }
    }
}

/// Any key of a JSON object (the credentials' options).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer {
    /// Whether `key` is absent or `null`.
    func isAbsent(_ key: Key) -> Bool {
        !contains(key) || ((try? decodeNil(forKey: key)) ?? false)
    }

    /// An optional string field: absent and `null` are nil, an empty string is refused.
    func optionalString(_ key: Key) throws -> String? {
        guard !isAbsent(key) else { return nil }
        guard let text = try? decode(String.self, forKey: key) else {
            throw LedgerError(.invalidInput, "\(key.stringValue) must be a string")
        }
        guard !text.isEmpty else { throw LedgerError(.invalidInput, "\(key.stringValue) must not be empty") }
        return text
    }
}
