public import AsyncHTTPClient
import Crypto
import Foundation
import NIOHTTP1
public import TokenLedger
import _CryptoExtras

/// Alipay: the app authorisation token (`app_auth_token`) a third-party app (ISV) holds for a
/// merchant, through `alipay.open.auth.token.app` on the gateway, signed RSA2.
///
/// The stream's appid is `isvAppId:merchant` (only the part before `:` is sent). The secret is
/// the ISV app's RSA private key (PEM). Options: `refresh_token` or `auth_code` (the first time),
/// `alipay_public_key` (PEM, verifies the answer's signature). Each refresh returns a new refresh
/// token, which the ledger records sealed with the token.
public struct Alipay: Platform {
    let gatewayURL: String
    let http: PlatformHTTP

    /// Creates the client; `gatewayURL` is `platforms.alipay.base_url` (the full gateway address).
    public init(gatewayURL: String = "https://openapi.alipay.com/gateway.do", httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.gatewayURL = gatewayURL
        self.http = PlatformHTTP(client: httpClient, timeout: timeout)
    }

    static let method = "alipay.open.auth.token.app"
    static let responseKey = "alipay_open_auth_token_app_response"

    public func fetchToken(_ request: TokenRequest) async throws -> IssuedToken {
        let appID = String(request.appid.split(separator: ":", maxSplits: 1).first ?? "")
        let biz: [String: String]
        if let refresh = request.refreshToken ?? request.options["refresh_token"] {
            biz = ["grant_type": "refresh_token", "refresh_token": refresh]
        } else if let code = request.options["auth_code"] {
            biz = ["grant_type": "authorization_code", "code": code]
        } else {
            throw PlatformError(.credentialsRejected, platformMessage: "no refresh_token or auth_code: set one in the app's options")
        }
        let bizContent = String(decoding: try JSONSerialization.data(withJSONObject: biz, options: [.sortedKeys]), as: UTF8.self)
        var fields = [
            "app_id": appID, "method": Self.method, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2",
            "timestamp": Self.chinaTimestamp(Date()), "version": "1.0", "biz_content": bizContent,
        ]
        fields["sign"] = try Self.sign(fields, privateKeyPEM: request.secret)
        let (status, body) = try await http.exchange(
            .POST, gatewayURL, form: PlatformHTTP.query(fields),
            headers: [("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")]
        )
        guard status < 400 else { throw PlatformError(.refused, platformCode: "http \(status)") }
        return try Self.parse(body, publicKeyPEM: request.options["alipay_public_key"])
    }

    /// Every non-empty parameter but `sign`, sorted by name, `k=v` joined with `&`, signed
    /// SHA256withRSA (PKCS #1 v1.5), base64.
    public static func sign(_ fields: [String: String], privateKeyPEM: String) throws -> String {
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw PlatformError(.credentialsRejected, platformMessage: "the secret is not an RSA private key in PEM form")
        }
        let signature = try key.signature(for: Data(signingString(fields).utf8), padding: .insecurePKCS1v1_5)
        return signature.rawRepresentation.base64EncodedString()
    }

    /// The string Alipay signs: what both sides must build byte for byte.
    public static func signingString(_ fields: [String: String]) -> String {
        fields.filter { $0.key != "sign" && !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    }

    /// Reads the answer; with a public key, checks its signature over the response object's exact text.
    static func parse(_ body: Data, publicKeyPEM: String?) throws -> IssuedToken {
        let text = String(decoding: body, as: UTF8.self)
        let answer = try JSONAnswer(body)
        guard let response = answer.nested(responseKey) ?? answer.nested("error_response") else {
            throw PlatformError(.malformedAnswer, platformMessage: "the answer has no \(responseKey)")
        }
        if let publicKeyPEM {
            guard let signed = signedText(text), let sign = answer.string("sign"), verify(signed, sign: sign, publicKeyPEM: publicKeyPEM) else {
                throw PlatformError(.malformedAnswer, platformMessage: "the answer's signature does not verify with alipay_public_key")
            }
        }
        guard response.string("code") == "10000" else {
            let code = response.string("sub_code") ?? response.string("code") ?? "unknown"
            throw PlatformError(kind(code: response.string("code"), subCode: response.string("sub_code")), platformCode: code, platformMessage: response.string("sub_msg") ?? response.string("msg"))
        }
        let token = (response.object["tokens"] as? [[String: Any]])?.first.map(JSONAnswer.init(object:)) ?? response
        var issued = try token.token("app_auth_token", life: "expires_in")
        issued.refreshToken = token.string("app_refresh_token")
        return issued
    }

    /// The raw text of the response object, as signed: between `"…_response":` and `,"sign"`.
    static func signedText(_ text: String) -> String? {
        guard let key = text.range(of: "\"\(responseKey)\":"), let sign = text.range(of: ",\"sign\"", options: .backwards), key.upperBound < sign.lowerBound else {
            return nil
        }
        return String(text[key.upperBound..<sign.lowerBound])
    }

    static func verify(_ text: String, sign: String, publicKeyPEM: String) -> Bool {
        guard let key = try? _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM), let raw = Data(base64Encoded: sign) else { return false }
        return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: Data(text.utf8), padding: .insecurePKCS1v1_5)
    }

    static func kind(code: String?, subCode: String?) -> PlatformError.Kind {
        let sub = subCode?.lowercased() ?? ""
        if code == "20000" || sub.contains("system-error") || sub.contains("unknow-error") { return .busy }
        if sub.contains("invalid-signature") || sub.contains("invalid-app-id") || sub.contains("invalid-auth-code")
            || sub.contains("refresh-token") || sub.contains("auth-code") || code == "40002" && sub.contains("invalid")
        {
            return .credentialsRejected
        }
        if sub.contains("limit") { return .rateLimited }
        return .refused
    }

    /// `yyyy-MM-dd HH:mm:ss` in China time, as the gateway wants it.
    static func chinaTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}
