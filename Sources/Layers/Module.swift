import Tensors

/// Base class of every layer and model.
///
/// Parameters are found by reflection: stored properties of type `Tensor` are parameters, `Module`
/// properties are children, `[Module]` arrays are numbered children (`h.0`, `h.1`, …). The dotted path
/// of property names is the parameter's name; `@Key` renames a property so that names follow Hugging Face
/// checkpoints one-to-one (declare `@Key var attention: Linear`, then in `init`:
/// `_attention = Key(wrappedValue: Linear(...), "c_attn")`). Tensors that are not parameters (caches) are kept out of stored
/// `Tensor` properties (or marked with `@Buffer`).
open class Module {
    /// Training mode (dropout active). Set recursively with `train(_:)`.
    public private(set) var isTraining = true

    public init() {}

    /// Every parameter with its dotted name, in declaration order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var result: [(String, Tensor)] = []
        collect(prefix: "", into: &result)
        return result
    }

    public var parameters: [Tensor] { namedParameters().map { $0.tensor } }

    /// Only the parameters that receive gradients.
    public var trainableParameters: [Tensor] { parameters.filter { $0.requiresGrad } }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Direct children with their keys.
    public func children() -> [(key: String, module: Module)] {
        var result: [(String, Module)] = []
        for (key, value) in reflectedProperties() {
            if let module = value as? Module { result.append((key, module)) }
            if let list = value as? [Module] { for (index, module) in list.enumerated() { result.append(("\(key).\(index)", module)) } }
        }
        return result
    }

    /// All modules below and including this one, depth first.
    public func modules() -> [Module] { [self] + children().flatMap { $0.module.modules() } }

    public func train(_ on: Bool = true) { for module in modules() { module.isTraining = on } }
    public func eval() { train(false) }

    public func zeroGrad() { for parameter in parameters { parameter.zeroGrad() } }

    /// Freezes (no gradient) or unfreezes every parameter below this module.
    public func freeze(_ frozen: Bool = true) { for parameter in parameters { parameter.requiresGrad = !frozen } }

    func collect(prefix: String, into result: inout [(String, Tensor)]) {
        for (key, value) in reflectedProperties() {
            let name = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch value {
            case let tensor as Tensor: result.append((name, tensor))
            case let module as Module: module.collect(prefix: name, into: &result)
            case let list as [Module]:
                for (index, module) in list.enumerated() { module.collect(prefix: "\(name).\(index)", into: &result) }
            default: break
            }
        }
    }

    /// (key, value) of stored properties, superclass first, with `@Key` renames applied, optionals unwrapped.
    func reflectedProperties() -> [(String, Any)] {
        var mirrors: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let current = mirror { mirrors.append(current); mirror = current.superclassMirror }
        var result: [(String, Any)] = []
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard let label = child.label else { continue }
                if child.value is BufferMarker { continue }
                if let keyed = child.value as? KeyedProperty {
                    if let value = unwrap(keyed.wrappedAny) { result.append((keyed.key, value)) }
                } else if let value = unwrap(child.value) {
                    result.append((label, value))
                }
            }
        }
        return result
    }

    private func unwrap(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }
}

protocol KeyedProperty {
    var key: String { get }
    var wrappedAny: Any { get }
}

protocol BufferMarker {}

/// Stores a property under a checkpoint key different from its Swift name (see `Module`).
@propertyWrapper
public struct Key<Value>: KeyedProperty {
    public var wrappedValue: Value
    public let key: String
    public init(wrappedValue: Value, _ key: String) {
        self.wrappedValue = wrappedValue
        self.key = key
    }
    var wrappedAny: Any { wrappedValue }
}

/// A tensor kept with a module that is not a parameter (e.g. a rotary table): never saved, never trained.
@propertyWrapper
public struct Buffer<Value>: BufferMarker {
    public var wrappedValue: Value
    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
}
