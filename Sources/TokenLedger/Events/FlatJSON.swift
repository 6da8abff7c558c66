#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads the flat JSON objects that payloads and metadata are (string, number, boolean and null
/// values; no nesting) without `JSONDecoder`: a replay decodes one or two per event.
///
/// It reads only what it is sure to read as `JSONDecoder` does: a string with an escape or a
/// byte outside ASCII, a nested value, anything malformed makes `scan` answer false, and the
/// caller then decodes with `JSONDecoder`, which has the last word (and the error messages).
enum FlatJSON {
    /// One value, its bytes borrowed from the scanned buffer (valid during the callback only).
    enum Value {
        /// A string's bytes between the quotes: ASCII, no escape.
        case string(UnsafeRawBufferPointer)
        /// A number's bytes, checked against JSON's grammar.
        case number(UnsafeRawBufferPointer)
        case null
        case bool(Bool)

        /// The string, or nil for another kind of value.
        var string: String? {
            guard case .string(let bytes) = self else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// What `decodeIfPresent(String.self, …)` takes: a string, or null (nil); false for anything else.
        func read(into target: inout String?) -> Bool {
            if case .null = self { return true }
            guard let text = string else { return false }
            target = text
            return true
        }

        /// The integer a number without fraction or exponent is, nil for anything else (or too large).
        var int: Int? {
            guard case .number(let bytes) = self else { return nil }
            return FlatJSON.integer(bytes)
        }

        /// The number as a `Double`, rounded as `JSONDecoder` rounds it (correctly).
        var double: Double? {
            guard case .number(let bytes) = self else { return nil }
            // Integers up to 2^53 are exact doubles; others go through the C library's strtod,
            // as `JSONDecoder`'s do.
            if bytes.count <= 16, let integer = FlatJSON.integer(bytes) { return Double(integer) }
            return Double(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Calls `field` with each key (its raw bytes) and value of the object in `data`, in order.
    /// Answers false when `data` is not a flat object it reads, or as soon as `field` answers false.
    static func scan(_ data: Data, _ field: (UnsafeRawBufferPointer, Value) -> Bool) -> Bool {
        data.withUnsafeBytes { buffer in
            var scanner = Scanner(bytes: buffer)
            return scanner.object(field)
        }
    }

    /// Whether `key` is the bytes of `name`.
    static func key(_ key: UnsafeRawBufferPointer, is name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return key.elementsEqual(expected)
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < bytes.count, bytes.count - index <= 18 else { return nil }
        var value = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            value = value * 10 + Int(digit)
            index += 1
        }
        return negative ? -value : value
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func object(_ field: (UnsafeRawBufferPointer, Value) -> Bool) -> Bool {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return false }
            skipSpace()
            if take(UInt8(ascii: "}")) { return end() }
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard let value = value(), field(key, value) else { return false }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "}")) else { return false }
                return end()
            }
        }

        /// Only space may follow the object.
        private mutating func end() -> Bool {
            skipSpace()
            return index == bytes.count
        }

        private mutating func value() -> Value? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(Value.string)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number().map(Value.number)
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            default: return nil
            }
        }

        /// A string of printable ASCII without escapes (anything else is left to `JSONDecoder`).
        private mutating func string() -> UnsafeRawBufferPointer? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return UnsafeRawBufferPointer(rebasing: bytes[start..<(index - 1)])
                }
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        private mutating func number() -> UnsafeRawBufferPointer? {
            let start = index
            _ = take(UInt8(ascii: "-"))
            if take(UInt8(ascii: "0")) {
                // No leading zeros.
            } else {
                guard digits() > 0 else { return nil }
            }
            if take(UInt8(ascii: ".")) {
                guard digits() > 0 else { return nil }
            }
            if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
                if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
                guard digits() > 0 else { return nil }
            }
            return UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        }

        private mutating func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") <= 9 { index += 1 }
            return index - start
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            let candidate = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + count)])
            guard FlatJSON.key(candidate, is: word) else { return false }
            index += count
            return true
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }
    }
}
