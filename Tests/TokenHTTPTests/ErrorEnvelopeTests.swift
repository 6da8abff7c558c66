import HTTPTypes
import Hummingbird
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger

/// Every way a request can be wrong is a 4xx in the envelope with a stable code, and appends nothing.
struct ErrorEnvelopeTests {
    typealias Case = (method: HTTPRequest.Method, uri: String, body: String?, status: Int, code: String, message: String?)

    static let path = "/token/demo/wechat/wxbad"
    static let tooLarge = #"{"secret":""# + String(repeating: "a", count: 64 * 1024) + #""}"#

    static let cases: [Case] = [
        // The path: a platform this service does not know, malformed ids.
        (.get, "/token/demo/nosuch/wxbad?secret=S", nil, 400, "unknown_platform", nil),
        (.put, "/token/demo/nosuch/wxbad/credentials", #"{"secret":"S"}"#, 400, "unknown_platform", nil),
        (.get, "/token/demo/wechat/\(String(repeating: "a", count: 129))?secret=S", nil, 400, "invalid_input", nil),
        (.get, "/token/demo/wechat/wx%01bad?secret=S", nil, 400, "invalid_input", nil),
        (.get, "/token/demo/wechat/%2E%2E?secret=S", nil, 400, "invalid_input", nil),
        (.get, "/token/de%2Fmo/wechat/wxbad?secret=S", nil, 400, "invalid_input", nil),
        (.get, "/token/de%2Fmo/wechat/wxbad/history", nil, 400, "invalid_input", nil),
        (.get, path, nil, 404, "credentials_missing", nil),
        (.get, "/nothing/here", nil, 404, "not_found", "no such route"),
        // PUT bodies: empty is fine, anything but an object of strings is not.
        (.put, path, "not json", 400, "invalid_input", #"the body must be a JSON object like {"nowToken": "…", "secret": "…"}"#),
        (.put, path, "[1,2]", 400, "invalid_input", #"the body must be a JSON object like {"nowToken": "…", "secret": "…"}"#),
        (.put, path, #""text""#, 400, "invalid_input", #"the body must be a JSON object like {"nowToken": "…", "secret": "…"}"#),
        (.put, path, #"{"nowToken":5}"#, 400, "invalid_input", "nowToken must be a string"),
        (.put, path, #"{"secret":true}"#, 400, "invalid_input", "secret must be a string"),
        (.put, path, #"{"secret":""}"#, 400, "invalid_input", "secret must not be empty"),
        (.put, path, #"{"nowToken":""}"#, 400, "invalid_input", "nowToken must not be empty"),
        (.put, path, tooLarge, 400, "invalid_input", "the body is larger than 65536 bytes"),
        // Credentials bodies.
        (.put, path + "/credentials", nil, 400, "invalid_input", #"the body must be a JSON object like {"secret": "…", "options": {"mode": "classic"}}"#),
        (.put, path + "/credentials", "{oops", 400, "invalid_input", #"the body must be a JSON object like {"secret": "…", "options": {"mode": "classic"}}"#),
        (.put, path + "/credentials", "[]", 400, "invalid_input", #"the body must be a JSON object like {"secret": "…", "options": {"mode": "classic"}}"#),
        (.put, path + "/credentials", "{}", 400, "invalid_input", "secret is required and must be a non-empty string"),
        (.put, path + "/credentials", #"{"secret":5}"#, 400, "invalid_input", "secret is required and must be a non-empty string"),
        (.put, path + "/credentials", #"{"secret":""}"#, 400, "invalid_input", "secret is required and must be a non-empty string"),
        (.put, path + "/credentials", #"{"secret":"S","options":["a"]}"#, 400, "invalid_input", "options must be an object of strings"),
        (.put, path + "/credentials", #"{"secret":"S","options":{"scope":5}}"#, 400, "invalid_input", "option scope must be a string"),
        (.put, path + "/credentials", #"{"secret":"S","verify":"yes"}"#, 400, "invalid_input", "verify must be true or false"),
        (.put, path + "/credentials", tooLarge, 400, "invalid_input", "the body is larger than 65536 bytes"),
        // Audit pages.
        (.get, path + "/history?limit=abc", nil, 400, "invalid_input", "limit must be an integer in 1...1000"),
        (.get, path + "/history?limit=0", nil, 400, "invalid_input", "limit must be an integer in 1...1000"),
        (.get, path + "/history?limit=1001", nil, 400, "invalid_input", "limit must be an integer in 1...1000"),
        (.get, path + "/history?after=-1", nil, 400, "invalid_input", "after must be an integer in 0...9223372036854775807"),
        (.get, "/events?after=x", nil, 400, "invalid_input", "after must be an integer in 0...9223372036854775807"),
        (.get, "/events?limit=5000", nil, 400, "invalid_input", "limit must be an integer in 1...1000"),
        (.get, "/events?type=nothing", nil, 400, "invalid_input", nil),
    ]

    @Test func badInputGetsAClearEnvelopeAndAppendsNothing() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            for (method, uri, body, status, code, message) in Self.cases {
                let answer = try await client.call(method, uri, body: body)
                #expect(answer.outcome == (status, code), "\(method) \(uri.prefix(80)): \(answer.text.prefix(200))")
                #expect(answer.code == status && answer.dataIsNull, "\(method) \(uri.prefix(80))")
                #expect(answer.error?.isEmpty == false)
                if let message { #expect(answer.error == message, "\(method) \(uri.prefix(80))") }
                #expect(answer.header("Content-Type") == "application/json; charset=utf-8")
            }
            #expect(try await client.call(.get, "/events").text == #"{"code":200,"data":[],"error":""}"#, "nothing was appended")
        }
        #expect(fixture.platform.calls == 0)
    }

    @Test func aBadMinPositionIsRefusedBeforeTheLedgerIsAsked() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            for value in ["abc", "-1", "1.5", ""] {
                let headers: HTTPFields = [HTTPField.Name("X-Ledger-Min-Position")!: value]
                let read = try await client.call(.get, Self.path + "?secret=S", headers: headers)
                #expect(read.outcome == (400, "invalid_input"), "\(value)")
                #expect(read.error == "X-Ledger-Min-Position must be a non-negative integer")
                #expect(try await client.call(.put, Self.path + "?secret=S", headers: headers).outcome == (400, "invalid_input"))
            }
            #expect(try await fixture.events().isEmpty)
        }
        #expect(fixture.platform.calls == 0)
    }

    @Test func anEmptyPutBodyIsNoBody() async throws {
        let fixture = try HTTPFixture()
        try await fixture.test { client async throws in
            for body in ["", " \n\t", "{}", #"{"nowToken":null,"secret":null}"#] {
                #expect(try await client.call(.put, Self.path + "?secret=S", body: body).status == 200, "\(body)")
            }
        }
    }
}
