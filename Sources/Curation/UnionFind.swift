/// Disjoint sets over 0..<count, each represented by its smallest member, so a cluster's root is its first document
/// and the result does not depend on the order of the unions.
public struct UnionFind {
    private var parent: [Int32]

    public init(count: Int) {
        precondition(count <= Int(Int32.max), "more than 2^31 documents")
        parent = (0..<Int32(count)).map { $0 }
    }

    public var count: Int { parent.count }

    /// The smallest member of `element`'s set (with path halving).
    public mutating func root(_ element: Int) -> Int {
        var node = Int32(element)
        while parent[Int(node)] != node {
            let grandparent = parent[Int(parent[Int(node)])]
            parent[Int(node)] = grandparent
            node = grandparent
        }
        return Int(node)
    }

    /// Merges the sets of `a` and `b`; returns false when they were one set already.
    @discardableResult
    public mutating func union(_ a: Int, _ b: Int) -> Bool {
        let (rootA, rootB) = (root(a), root(b))
        guard rootA != rootB else { return false }
        if rootA < rootB { parent[rootB] = Int32(rootA) } else { parent[rootA] = Int32(rootB) }
        return true
    }
}
