import Crypto
import Foundation
import TokenHTTP

/// Dashboard sessions: a signed, expiring cookie naming the API key that signed in, and the CSRF
/// token that every form of the session carries (an HMAC of the session id).
///
/// The dashboard signs with a key derived from the sealing key (`Sealer.derivedKey`), so a session
/// holds across restarts and on every replica sharing that key; rotating the sealing key ends them.
struct Sessions: Sendable {
    /// One signed-in key.
    struct Session: Sendable, Equatable {
        /// A random id, the CSRF token's subject.
        let id: String
        /// The configured key's id.
        let keyID: String
        /// When the cookie stops being accepted.
        let expires: Date
    }

    /// The cookie's name.
    static let cookie = "tokenledger_session"

    /// The signing key's bytes (`SymmetricKey` is not `Sendable`).
    let key: [UInt8]
    /// How long a session lasts.
    let lifetime: TimeInterval
    /// Whether cookies carry `Secure` (the dashboard is reached over HTTPS, e.g. behind a proxy).
    let secure: Bool

    /// Sessions signed with `key` (random by default) that last `lifetime` seconds.
    init(key: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }, lifetime: TimeInterval = 8 * 3600, secure: Bool = false) {
        self.key = key
        self.lifetime = lifetime
        self.secure = secure
    }

    /// A new session of `keyID` starting at `now`, and the cookie value that carries it.
    func open(keyID: String, now: Date) -> (session: Session, value: String) {
        let id = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).map { String(format: "%02x", $0) }.joined()
        let session = Session(id: id, keyID: keyID, expires: now.addingTimeInterval(lifetime))
        let payload = "\(session.id).\(Int64(session.expires.timeIntervalSince1970)).\(Self.base64url(Data(keyID.utf8)))"
        return (session, payload + "." + sign("session:" + payload))
    }

    /// The session a cookie value carries, if its signature holds and it has not expired.
    func verify(_ value: String, now: Date) -> Session? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 else { return nil }
        let payload = parts[0...2].joined(separator: ".")
        guard Self.constantTimeEqual(sign("session:" + payload), parts[3]),
            let seconds = Int64(parts[1]), let keyID = Self.unbase64url(parts[2])
        else { return nil }
        let expires = Date(timeIntervalSince1970: TimeInterval(seconds))
        guard now < expires else { return nil }
        return Session(id: parts[0], keyID: keyID, expires: expires)
    }

    /// The CSRF token of a session (`nil`: the open dashboard of `auth.mode: none`).
    func csrf(for session: Session?) -> String {
        sign("csrf:" + (session?.id ?? "open"))
    }

    /// Whether `presented` is the CSRF token of `session`.
    func checkCSRF(_ presented: String?, session: Session?) -> Bool {
        guard let presented else { return false }
        return Self.constantTimeEqual(csrf(for: session), presented)
    }

    /// `Set-Cookie` for a session value: signed, expiring, HttpOnly, SameSite=Strict, only under
    /// /ui, and `Secure` when configured.
    func setCookie(_ value: String) -> String {
        "\(Self.cookie)=\(value); Path=/ui; Max-Age=\(Int(lifetime)); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that ends the session in the browser.
    var clearCookie: String {
        "\(Self.cookie)=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The session cookie's value in a `Cookie` header.
    static func value(inCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(cookie + "=") { return String(trimmed.dropFirst(cookie.count + 1)) }
        }
        return nil
    }

    private func sign(_ text: String) -> String {
        Self.base64url(Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))))
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64url(_ text: String) -> String? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).flatMap { String(data: $0, encoding: .utf8) }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        AccessControl.constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }
}
