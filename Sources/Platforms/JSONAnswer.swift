import Foundation
import TokenLedger

/// A platform's JSON answer, read leniently in type (numbers may come as strings) and strictly in
/// content: a missing token or life is a malformed answer.
struct JSONAnswer {
    let object: [String: Any]

    init(_ body: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer is not a JSON object")
        }
        self.object = object
    }

    init(object: [String: Any]) { self.object = object }

    func string(_ key: String) -> String? {
        switch object[key] {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    func int(_ key: String) -> Int? {
        switch object[key] {
        case let number as NSNumber: number.intValue
        case let text as String: Int(text)
        default: nil
        }
    }

    func nested(_ key: String) -> JSONAnswer? {
        (object[key] as? [String: Any]).map(JSONAnswer.init(object:))
    }

    /// The token and its life under the given keys, or a malformed-answer error.
    func token(_ tokenKey: String, life lifeKey: String, defaultLife: Int? = nil) throws -> IssuedToken {
        guard let token = string(tokenKey), !token.isEmpty, let life = int(lifeKey) ?? defaultLife, life > 0 else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer has no \(tokenKey) and \(lifeKey)")
        }
        return IssuedToken(token: token, expiresIn: life)
    }
}
