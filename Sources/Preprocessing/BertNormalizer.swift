import Foundation

/// BERT's text normalisation and pre-tokenisation, as Hugging Face `tokenizers` does it
/// (`BertNormalizer` then `BertPreTokenizer`): drop NUL, U+FFFD and other control/format characters,
/// turn whitespace into spaces, put spaces around CJK ideographs, strip accents (NFD, drop
/// non-spacing marks), lowercase character by character, then split on whitespace and make every
/// punctuation character its own word.
struct BertNormalizer: Sendable {
    var lowercase = true
    var stripAccents = true
    var handleChineseCharacters = true

    /// The pre-tokenised words of `text`.
    func words(_ text: String) -> [String] {
        var normalized = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                normalized.append(" ")
            } else if handleChineseCharacters && Self.isCJK(scalar) {
                normalized.append(" ")
                normalized.append(scalar)
                normalized.append(" ")
            } else {
                normalized.append(scalar)
            }
        }
        var scalars = Array(normalized)
        if stripAccents {
            let decomposed = String(String.UnicodeScalarView(scalars)).decomposedStringWithCanonicalMapping
            scalars = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            scalars = scalars.flatMap { $0.properties.lowercaseMapping.unicodeScalars }
        }

        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
        }
        for scalar in scalars {
            if Self.isWhitespace(scalar) {
                flush()
            } else if Self.isPunctuation(scalar) {
                flush()
                words.append(String(scalar))
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    /// Unicode "Other" categories (Cc, Cf, Cs, Co, Cn), except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// ASCII punctuation (including symbols such as `$`, `+`, `^`) and Unicode punctuation (P*).
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII {
            let v = s.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT spaces out.
    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
