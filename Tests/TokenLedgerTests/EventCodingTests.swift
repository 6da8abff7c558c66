import Foundation
import Testing
import TokenLedger

/// Payloads and metadata are read without `JSONDecoder` when they read plainly (a replay decodes
/// every event): whatever the text, the answer must be `JSONDecoder`'s.
struct EventCodingTests {
    /// What the log held before the fast reader, as `JSONDecoder` reads it.
    static func reference<T: Decodable>(_: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    static func decode<T: Decodable>(_: T.Type, _ text: String) throws -> T {
        try EventCoding.decode(T.self, from: Data(text.utf8), position: 7)
    }

    static let token = "v2.k1.0pJ1h8UM+u/GypJ13yeNAXbVBWIbkWRhvk/s01UR+u9nGn3nkA=="

    /// As appended (sorted keys, no space), as PostgreSQL's `jsonb` gives them back (its own key
    /// order, a space after `:` and `,`), and the forms only `JSONDecoder` reads (escapes, text
    /// outside ASCII, exponents, nested or unknown keys): each decodes as `JSONDecoder` decodes it.
    @Test(arguments: [
        #"{"expires_at":1795900000123,"reason":"scheduled","token":"\#(token)","upstream_latency_ms":12}"#,
        #"{"reason": "miss", "token": "\#(token)", "expires_at": 1795900000123.456, "upstream_latency_ms": 0}"#,
        #"{"expires_at":1795900000123.4567,"reason":"forced","refresh_token":"\#(token)","token":"\#(token)","upstream_latency_ms":3}"#,
        #"{"expires_at":1795900000000,"reason":"imported","refresh_token":null,"token":"\#(token)","upstream_latency_ms":-1}"#,
        #"  {"token":"\#(token)","expires_at":1.7959e12,"reason":"expired","upstream_latency_ms":5,"extra":{"nested":[1,2]}}  "#,
        #"{"token":"v2.k1.a\/b","expires_at":0,"reason":"compare","upstream_latency_ms":5}"#,
        #"{"token":"\#(token)","expires_at":-1000.5,"reason":"credentials","upstream_latency_ms":5,"note":"é"}"#,
    ])
    func tokenIssuedDecodesAsJSONDecoderDoes(text: String) throws {
        #expect(try Self.decode(TokenIssued.self, text) == Self.reference(TokenIssued.self, text))
    }

    @Test(arguments: [
        #"{"node":"replica-1"}"#,
        #"{"actor": "scheduler", "node": "n", "request_id": "4F1C2A"}"#,
        #"{"node":"n","request_id":null,"actor":null}"#,
        #"{"node":"n\u00e9","actor":"k\"1"}"#,
        #"{"node":"noeud-é"}"#,
    ])
    func metadataDecodesAsJSONDecoderDoes(text: String) throws {
        #expect(try Self.decode(EventMetadata.self, text) == Self.reference(EventMetadata.self, text))
    }

    @Test(arguments: [
        #"{"code":"upstream_busy","reason":"scheduled"}"#,
        #"{"code": "upstream_rejected_credentials", "reason": "miss", "platform_code": "40001", "platform_message": "invalid credential"}"#,
        #"{"code":"upstream_busy","platform_code":null,"platform_message":"系统繁忙","reason":"forced"}"#,
    ])
    func refreshFailedDecodesAsJSONDecoderDoes(text: String) throws {
        #expect(try Self.decode(RefreshFailed.self, text) == Self.reference(RefreshFailed.self, text))
    }

    @Test func everyPayloadRoundTrips() throws {
        let sealed = SealedValue(text: Self.token)
        for milliseconds in [0.0, 1_795_900_000_123, 1_795_900_000_123.456, -86_400_000.25] {
            let issued = TokenIssued(
                token: sealed, expiresAt: Date(timeIntervalSince1970: milliseconds / 1000), reason: .scheduled, upstreamLatencyMs: 42,
                refreshToken: milliseconds > 0 ? sealed : nil
            )
            #expect(try EventCoding.decode(TokenIssued.self, from: EventCoding.encode(issued), position: 1) == issued)
        }
        let failed = RefreshFailed(code: "upstream_busy", platformCode: "-1", platformMessage: "system busy", reason: .expired)
        #expect(try EventCoding.decode(RefreshFailed.self, from: EventCoding.encode(failed), position: 1) == failed)
        let revoked = TokenRevoked(reason: "leaked")
        #expect(try EventCoding.decode(TokenRevoked.self, from: EventCoding.encode(revoked), position: 1) == revoked)
        for metadata in [EventMetadata(node: "n"), EventMetadata(node: "n", requestID: "r", actor: "a")] {
            #expect(try EventCoding.decode(EventMetadata.self, from: EventCoding.encode(metadata), position: 1) == metadata)
        }
    }

    /// A repeated key is left to `JSONDecoder`, whatever it makes of it: the fast reader never
    /// picks one of the two on its own.
    @Test func aRepeatedKeyDecodesAsJSONDecoderDecidesOrFails() throws {
        let text = #"{"node":"a","node":"b"}"#
        let reference = try? Self.reference(EventMetadata.self, text)
        #expect((try? Self.decode(EventMetadata.self, text)) == reference)
    }

    @Test(arguments: [
        "",
        "[]",
        "{}",
        #"{"token":1,"expires_at":0,"reason":"miss","upstream_latency_ms":1}"#,
        #"{"token":"\#(token)","expires_at":"soon","reason":"miss","upstream_latency_ms":1}"#,
        #"{"token":"\#(token)","expires_at":0,"reason":"because","upstream_latency_ms":1}"#,
        #"{"token":"\#(token)","expires_at":0,"reason":"miss","upstream_latency_ms":1.5}"#,
        #"{"token":"\#(token)","expires_at":0,"reason":"miss","upstream_latency_ms":99999999999999999999}"#,
        #"{"token":"\#(token)","expires_at":01,"reason":"miss","upstream_latency_ms":1}"#,
        #"{"token":"\#(token)","expires_at":0,"reason":"miss","upstream_latency_ms":1"#,
        #"{"token":"\#(token)","expires_at":0,"reason":"miss","upstream_latency_ms":1} x"#,
        #"{"token":"\#(token),"expires_at":0,"reason":"miss","upstream_latency_ms":1}"#,
    ])
    func aCorruptPayloadIsACorruptEventNamingItsPosition(text: String) {
        #expect(throws: LedgerError(.corruptEvent, "event 7 has a payload that is not a valid TokenIssued")) {
            try Self.decode(TokenIssued.self, text)
        }
    }
}
