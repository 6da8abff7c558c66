/// Decodes the base64 that `base64EncodedString()` writes (standard alphabet, padded, no line
/// breaks) straight from a sealed value's text: opening a token is on every replay's path, and
/// Foundation's decoder needs a `String` of its own first. Anything else answers nil (the caller
/// then asks Foundation, which decides).
enum Base64 {
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    static func decode(_ text: Substring.UTF8View) -> [UInt8]? {
        let count = text.count
        guard count % 4 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count / 4 * 3)
        var (accumulator, bits, padding): (UInt32, UInt32, Int) = (0, 0, 0)
        for character in text {
            if character == UInt8(ascii: "=") {
                padding += 1
                guard padding <= 2 else { return nil }
                continue
            }
            let value = values[Int(character)]
            guard value != 0xFF, padding == 0 else { return nil }  // padding only at the end
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> bits))
            }
        }
        // What the padding leaves over must be zero bits, as an encoder writes them.
        guard accumulator & ((1 << bits) - 1) == 0 else { return nil }
        return bytes
    }
}
