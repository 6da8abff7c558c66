import TokenLedger

/// The body of `PUT /token/…/credentials`: `{"secret": string, "options"?: {string: string},
/// "verify"?: bool}`.
struct CredentialsBody: JSONBody, Equatable {
    /// The app's secret.
    var secret: String
    /// The platform options, replacing the recorded ones.
    var options: [String: String]
    /// Whether a change to working credentials is tried with the platform first (default true).
    var verify: Bool

    static let example = #"{"secret": "…", "options": {"mode": "classic"}}"#
    static let empty: CredentialsBody? = nil

    private enum CodingKeys: String, CodingKey {
        case secret, options, verify
    }

    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        guard let secret = try? fields.decode(String.self, forKey: .secret), !secret.isEmpty else {
            throw LedgerError(.invalidInput, "secret is required and must be a non-empty string")
        }
        self.secret = secret
        options = [:]
        if !fields.isAbsent(.options) {
            guard let object = try? fields.nestedContainer(keyedBy: AnyKey.self, forKey: .options) else {
                throw LedgerError(.invalidInput, "options must be an object of strings")
            }
            for key in object.allKeys {
                guard let text = try? object.decode(String.self, forKey: key) else {
                    throw LedgerError(.invalidInput, "option \(key.stringValue) must be a string")
                }
                options[key.stringValue] = text
            }
        }
        verify = true
        if !fields.isAbsent(.verify) {
            guard let flag = try? fields.decode(Bool.self, forKey: .verify) else {
                throw LedgerError(.invalidInput, "verify must be true or false")
            }
            verify = flag
        }
    }
}
