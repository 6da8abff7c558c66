import Foundation
import Hummingbird
import NIOCore
import HTTPTypes
import TokenLedger

/// The one envelope builder: `{"code":200,"data":…,"error":""}`, as the original service's
/// clients read it. Errors add `errorCode`, a stable machine-readable name.
enum Envelope {
    static let contentType = "application/json; charset=utf-8"

    /// A token (or any string) as `data`.
    static func string(_ value: String, headers: HTTPFields = [:]) -> Response {
        response(.ok, stringJSON(value), headers: headers)
    }

    /// The envelope of `value` as `data`, written by hand, since this is the hot path (the fast
    /// path keeps it encoded with `fields(_:)`).
    static func stringJSON(_ value: String) -> String {
        var json = "{\"code\":200,\"data\":"
        json.reserveCapacity(value.utf8.count + 40)
        appendQuoted(value, to: &json)
        json += ",\"error\":\"\"}"
        return json
    }

    /// The headers of an envelope: `headers` and its content type.
    static func fields(_ headers: HTTPFields) -> HTTPFields {
        var fields = headers
        fields[.contentType] = contentType
        return fields
    }

    /// Any encodable value as `data`.
    static func value<T: Encodable>(_ value: T, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return response(.ok, "{\"code\":200,\"data\":\(String(decoding: data, as: UTF8.self)),\"error\":\"\"}", headers: headers)
    }

    /// An error: `code` is the HTTP status, `data` null, `error` words a caller can act on.
    static func failure(_ status: HTTPResponse.Status, message: String, errorCode: String) -> Response {
        var json = "{\"code\":\(status.code),\"data\":null,\"error\":"
        appendQuoted(message, to: &json)
        json += ",\"errorCode\":"
        appendQuoted(errorCode, to: &json)
        json += "}"
        return response(status, json, headers: [:])
    }

    private static func response(_ status: HTTPResponse.Status, _ json: String, headers: HTTPFields) -> Response {
        Response(status: status, headers: fields(headers), body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }

    /// JSON string escaping (RFC 8259 §7).
    static func appendQuoted(_ value: String, to json: inout String) {
        json.append("\"")
        // Tokens are plain ASCII: append them whole when nothing needs escaping (the hot path).
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            json.append(value)
            json.append("\"")
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": json.append("\\\"")
            case "\\": json.append("\\\\")
            case "\n": json.append("\\n")
            case "\r": json.append("\\r")
            case "\t": json.append("\\t")
            case _ where scalar.value < 0x20:
                json.append("\\u")
                let hex = String(scalar.value, radix: 16)
                json.append(String(repeating: "0", count: 4 - hex.count) + hex)
            default:
                json.unicodeScalars.append(scalar)
            }
        }
        json.append("\"")
    }
}
