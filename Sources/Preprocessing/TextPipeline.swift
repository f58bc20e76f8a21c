import Foundation

/// Text → words: the normalizers and pre-tokenizers of Hugging Face `tokenizers` that byte-level BPE
/// tokenizers use (CLIP's, GPT-2's), applied in order. Regular expressions are ICU's
/// (`NSRegularExpression`), which read `tokenizers`' Oniguruma patterns the same way for `\p{L}`,
/// `\p{N}`, `\s` on ordinary whitespace, alternation and look-ahead.
struct TextPipeline: Sendable {
    enum Normalization: Sendable {
        case nfc, nfd, nfkc, nfkd, lowercase
        case replace(Pattern, with: String)
        case strip(left: Bool, right: Bool)
    }

    enum PreTokenization: Sendable {
        /// Splits at the pattern's matches (`tokenizers`' `Split`). The matches are the delimiters, or
        /// with `invert` the text between them is (CLIP's pattern matches its words);
        /// `removeMatches` drops the delimiters (behaviour `Removed`), otherwise they are words too
        /// (`Isolated`).
        case split(Pattern, invert: Bool, removeMatches: Bool)
        /// GPT-2's pattern (when `useRegex`), after an optional leading space.
        case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
        /// Runs of `\w` and runs of other non-space characters.
        case whitespace
        case whitespaceSplit
    }

    /// A compiled pattern. `NSRegularExpression` is immutable and documented safe to share across
    /// threads, so this wrapper is `@unchecked Sendable`.
    struct Pattern: @unchecked Sendable {
        let expression: NSRegularExpression

        init(regex: String) throws(PreprocessingError) {
            do { expression = try NSRegularExpression(pattern: regex) } catch {
                throw PreprocessingError(.invalidVocabulary, "the pattern '\(regex)' is not a regular expression ICU reads")
            }
        }

        init(literal: String) {
            // An escaped literal always compiles.
            expression = try! NSRegularExpression(pattern: NSRegularExpression.escapedPattern(for: literal))
        }

        /// The matched ranges of `text`, in order, as scalar-aligned indices: slice them from
        /// `text.unicodeScalars`, since a match may end inside a grapheme (`i` + U+0307, joiners),
        /// where `String`'s own subscript would round to a character boundary.
        func matches(in text: String) -> [Range<String.Index>] {
            let utf16 = text.utf16
            return expression.matches(in: text, range: NSRange(location: 0, length: utf16.count)).map {
                let start = utf16.index(utf16.startIndex, offsetBy: $0.range.location)
                return start..<utf16.index(start, offsetBy: $0.range.length)
            }
        }
    }

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    var normalizations: [Normalization]
    var preTokenizations: [PreTokenization]
    private let gpt2: Pattern

    init(normalizations: [Normalization], preTokenizations: [PreTokenization]) {
        self.normalizations = normalizations
        self.preTokenizations = preTokenizations
        gpt2 = try! Pattern(regex: Self.gpt2Pattern)  // a constant pattern that compiles
    }

    func normalized(_ text: String) -> String {
        var text = text
        for step in normalizations {
            switch step {
            case .nfc: text = text.precomposedStringWithCanonicalMapping
            case .nfd: text = text.decomposedStringWithCanonicalMapping
            case .nfkc: text = text.precomposedStringWithCompatibilityMapping
            case .nfkd: text = text.decomposedStringWithCompatibilityMapping
            case .lowercase: text = Self.lowercased(text)
            case .replace(let pattern, let content):
                let scalars = text.unicodeScalars
                var out = String.UnicodeScalarView(), last = scalars.startIndex
                for range in pattern.matches(in: text) {
                    out += scalars[last..<range.lowerBound]
                    out += content.unicodeScalars
                    last = range.upperBound
                }
                out += scalars[last...]
                text = String(out)
            case .strip(let left, let right):
                var scalars = Substring(text).unicodeScalars[...]
                if left { scalars = scalars.drop { $0.properties.isWhitespace } }
                if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
                text = String(String.UnicodeScalarView(scalars))
            }
        }
        return text
    }

    /// The words of already normalised text.
    func words(_ text: String) -> [String] {
        var words = [text]
        for step in preTokenizations {
            words = words.flatMap { split($0, step) }
        }
        return words.filter { !$0.isEmpty }
    }

    private func split(_ word: String, _ step: PreTokenization) -> [String] {
        switch step {
        case .split(let pattern, let invert, let removeMatches):
            // Pieces alternate between the text outside matches and the matches; `invert` makes the
            // outside text the delimiters, and `removeMatches` drops the delimiters.
            let scalars = word.unicodeScalars
            var pieces: [(text: Substring.UnicodeScalarView, isDelimiter: Bool)] = [], last = scalars.startIndex
            for range in pattern.matches(in: word) {
                pieces.append((scalars[last..<range.lowerBound], invert))
                pieces.append((scalars[range], !invert))
                last = range.upperBound
            }
            pieces.append((scalars[last...], invert))
            return pieces.filter { !(removeMatches && $0.isDelimiter) }.map { String(String.UnicodeScalarView($0.text)) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            let text = addPrefixSpace && !word.hasPrefix(" ") ? " " + word : word
            return useRegex ? gpt2.matches(in: text).map { String(String.UnicodeScalarView(text.unicodeScalars[$0])) } : [text]
        case .whitespace:
            var out: [String] = [], current = "", currentIsWord: Bool?
            for scalar in word.unicodeScalars {
                if scalar.properties.isWhitespace {
                    out.append(current); current = ""; currentIsWord = nil
                    continue
                }
                let isWord = scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_"
                    || scalar.properties.generalCategory == .nonspacingMark
                if currentIsWord != nil && currentIsWord != isWord { out.append(current); current = "" }
                current.unicodeScalars.append(scalar)
                currentIsWord = isWord
            }
            return out + [current]
        case .whitespaceSplit:
            return word.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        }
    }

    /// Unicode lowercase mapping (full, not per code unit), with Greek final sigma: `Σ` becomes `ς`
    /// after a cased letter and not before one, as Rust's `str::to_lowercase` (used by `tokenizers`) does.
    static func lowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, scalar) in scalars.enumerated() {
            if scalar == "\u{03A3}" && isFinalSigma(scalars, at: i) {
                out.append("\u{03C2}")
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    private static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        func cased(_ range: some Sequence<Int>) -> Bool {
            for j in range {
                let p = scalars[j].properties
                if p.isCaseIgnorable { continue }
                return p.isCased
            }
            return false
        }
        return cased(stride(from: index - 1, through: 0, by: -1)) && !cased(index + 1..<scalars.count)
    }
}
