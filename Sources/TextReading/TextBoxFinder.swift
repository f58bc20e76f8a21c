/// DB post-processing of PP-OCR's text-probability map, for upright text: threshold, dilate 2×2,
/// connected components (8-neighbour), score = mean probability inside the box, expand each box by
/// the unclip distance (area × ratio / perimeter). Pure; unit-tested without a model.
///
/// Differs from rapidocr on purpose in one way: boxes are axis-aligned rectangles, not minimum-area
/// rotated ones, so strongly rotated text lines are read less well (docs/models.md).
public struct TextBoxFinder: Sendable {
    public var threshold: Float = 0.3
    public var boxThreshold: Float = 0.5
    public var unclipRatio: Double = 1.6
    public var minimumSide = 3
    public var maximumBoxes = 1000

    public init() {}

    /// A box in map coordinates: `x..<x+width`, `y..<y+height`, with its mean probability.
    public struct Box: Sendable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int
        public var score: Float
    }

    /// Boxes of the `width`×`height` probability map, sorted top to bottom then left to right.
    public func boxes(map: [Float], width: Int, height: Int) -> [Box] {
        guard width > 0, height > 0, map.count == width * height else { return [] }
        // Threshold, then dilate with a 2×2 kernel of ones (as cv2.dilate with anchor at its centre).
        var bitmap = [Bool](repeating: false, count: map.count)
        for y in 0..<height {
            for x in 0..<width where map[y * width + x] > threshold {
                for dy in 0...1 where y + dy < height {
                    for dx in 0...1 where x + dx < width { bitmap[(y + dy) * width + x + dx] = true }
                }
            }
        }
        var label = [Int32](repeating: 0, count: map.count)
        var found: [Box] = []
        var stack: [Int] = []
        var next: Int32 = 0
        for start in 0..<map.count where bitmap[start] && label[start] == 0 {
            next += 1
            var minX = width, minY = height, maxX = 0, maxY = 0
            stack.append(start)
            label[start] = next
            while let index = stack.popLast() {
                let x = index % width, y = index / width
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                for dy in -1...1 {
                    for dx in -1...1 {
                        let nx = x + dx, ny = y + dy
                        guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                        let n = ny * width + nx
                        if bitmap[n] && label[n] == 0 { label[n] = next; stack.append(n) }
                    }
                }
            }
            let w = maxX - minX + 1, h = maxY - minY + 1
            guard min(w, h) >= minimumSide else { continue }
            var sum: Float = 0
            for y in minY...maxY { for x in minX...maxX { sum += map[y * width + x] } }
            let score = sum / Float(w * h)
            guard score >= boxThreshold else { continue }
            let distance = Double(w * h) * unclipRatio / Double(2 * (w + h))
            let grow = Int(distance.rounded())
            let x0 = max(0, minX - grow), y0 = max(0, minY - grow)
            let x1 = min(width - 1, maxX + grow), y1 = min(height - 1, maxY + grow)
            found.append(Box(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1, score: score))
            if found.count == maximumBoxes { break }
        }
        return found.sorted { a, b in
            abs(a.y - b.y) < 10 ? a.x < b.x : a.y < b.y
        }
    }
}
