/// The body of `PUT /token/…`: `{"secret"?: string, "nowToken"?: string}`; empty is fine.
struct RefreshBody: JSONBody, Equatable {
    /// A secret to register (or the registered one again).
    var secret: String?
    /// The token the caller holds and found bad: refreshed only if it is still the current one.
    var nowToken: String?

    static let example = #"{"nowToken": "…", "secret": "…"}"#
    static let empty: RefreshBody? = RefreshBody()

    private enum CodingKeys: String, CodingKey {
        case secret, nowToken
    }

    init(secret: String? = nil, nowToken: String? = nil) {
        self.secret = secret
        self.nowToken = nowToken
    }

    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        secret = try fields.optionalString(.secret)
        nowToken = try fields.optionalString(.nowToken)
    }
}
