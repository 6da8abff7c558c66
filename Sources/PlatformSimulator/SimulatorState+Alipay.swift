import Crypto
import Foundation
import Synchronization
import _CryptoExtras

/// Alipay's side of the simulator: the ISV apps' public keys and grants, and the platform's own key.
extension SimulatorState {
    enum AlipayExchange {
        case success(token: String, refresh: String, expiresIn: Int)
        case rejected(String)
    }

    /// Registers an ISV app: its RSA public key (PEM) and the authorisation code a merchant gave it.
    public func registerAlipay(appid: String, publicKeyPEM: String, authCode: String, expiresIn: Int = 7200) {
        register(appid: appid, secret: publicKeyPEM, expiresIn: expiresIn)
        alipay.withLock { $0.grants[appid] = AlipayGrant(authCode: authCode) }
    }

    /// The platform's public key (PEM), to verify its answers.
    public var alipayPublicKeyPEM: String { alipayKey.publicKey.pemRepresentation }

    /// The refresh token currently accepted for an app.
    public func alipayRefreshToken(appid: String) -> String? {
        alipay.withLock { $0.grants[appid]?.refreshToken }
    }

    func alipayVerify(_ appid: String, text: String, signature: String) -> Bool {
        guard let pem = secret(of: appid), let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem),
            let raw = Data(base64Encoded: signature)
        else { return false }
        return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: Data(text.utf8), padding: .insecurePKCS1v1_5)
    }

    func alipaySign(_ text: String) -> String {
        ((try? alipayKey.signature(for: Data(text.utf8), padding: .insecurePKCS1v1_5))?.rawRepresentation ?? Data()).base64EncodedString()
    }

    /// An authorisation code works once; each refresh token works once and is replaced.
    func alipayExchange(_ appid: String, grant: String, credential: String) -> AlipayExchange {
        let accepted = alipay.withLock { alipay -> Bool in
            guard var entry = alipay.grants[appid] else { return false }
            switch grant {
            case "authorization_code" where entry.authCode == credential && !entry.codeUsed:
                entry.codeUsed = true
            case "refresh_token" where entry.refreshToken == credential:
                break
            default:
                return false
            }
            entry.refreshToken = "r-" + Self.newToken(length: 32)
            alipay.grants[appid] = entry
            return true
        }
        guard accepted, let pem = secret(of: appid), let refresh = alipayRefreshToken(appid: appid) else {
            return .rejected(grant == "refresh_token" ? "invalid-refresh-token" : "invalid-auth-code")
        }
        guard case .token(let token, let expiresIn) = issue(appid, secret: pem, reuseAbove: nil, previousGrace: nil, prefix: "aat-") else {
            return .rejected("isv.invalid-app-id")
        }
        return .success(token: token, refresh: refresh, expiresIn: expiresIn)
    }
}

struct AlipayGrant {
    var authCode: String
    var codeUsed = false
    var refreshToken: String?
}

struct AlipayContents {
    var grants: [String: AlipayGrant] = [:]
}
