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
        let path = Self.bestPath(probabilities, steps: steps, classes: classes)
        return decode(classes: path.classes, scores: path.scores)
    }

    /// The most probable class of each step (the first on ties) and its probability: all that greedy
    /// decoding needs, `steps`×8 bytes instead of `steps`×`classes`×4.
    public static func bestPath(_ probabilities: ArraySlice<Float>, steps: Int, classes: Int) -> (classes: [Int64], scores: [Float]) {
        var best: [Int64] = [], scores: [Float] = []
        best.reserveCapacity(steps)
        scores.reserveCapacity(steps)
        let base = probabilities.startIndex
        for step in 0..<steps {
            var index = 0
            var value = -Float.infinity
            for c in 0..<classes {
                let v = probabilities[base + step * classes + c]
                if v > value { value = v; index = c }
            }
            best.append(Int64(index))
            scores.append(value)
        }
        return (best, scores)
    }

    /// Text and score of a best path (``bestPath(_:steps:classes:)``): merge repeats, drop blanks.
    /// A class outside 0…n+1 counts as a space.
    public func decode(classes: some Collection<Int64>, scores: some Collection<Float>) -> (text: String, score: Float) {
        var text = ""
        var total: Float = 0
        var kept = 0
        var previous: Int64 = -1
        for (best, value) in zip(classes, scores) {
            defer { previous = best }
            guard best != 0, best != previous else { continue }
            if best >= 1, best <= characters.count {
                text += characters[Int(best) - 1]
            } else {
                text += " "
            }
            total += value
            kept += 1
        }
        return (text, kept == 0 ? 0 : total / Float(kept))
    }
}
