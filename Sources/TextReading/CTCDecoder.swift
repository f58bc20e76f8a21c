/// Greedy CTC decoding of PP-OCR's recogniser output: argmax per step, merge repeats, drop the blank
/// (class 0). Class *i* in 1…n is dictionary entry *i*−1; class n+1 is a space. Pure.
public struct CTCDecoder: Sendable {
    public let characters: [String]

    public init(characters: [String]) {
        self.characters = characters
    }

    /// Text and score (mean of the kept steps' maximum probabilities; 0 when nothing is kept) of
    /// `steps`×`classes` probabilities.
    public func decode(_ probabilities: ArraySlice<Float>, steps: Int, classes: Int) -> (text: String, score: Float) {
        var text = ""
        var total: Float = 0
        var kept = 0
        var previous = -1
        let base = probabilities.startIndex
        for step in 0..<steps {
            var best = 0
            var bestValue = -Float.infinity
            for c in 0..<classes {
                let v = probabilities[base + step * classes + c]
                if v > bestValue { bestValue = v; best = c }
            }
            defer { previous = best }
            guard best != 0, best != previous else { continue }
            if best <= characters.count {
                text += characters[best - 1]
            } else {
                text += " "
            }
            total += bestValue
            kept += 1
        }
        return (text, kept == 0 ? 0 : total / Float(kept))
    }
}
