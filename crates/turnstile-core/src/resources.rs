//! Flavor-resource keys and amounts.
//!
//! Amounts are `i64` in the units Kueue schedules with: milli-units for `cpu`, whole units
//! (rounded up) for every other resource. Arithmetic saturates; nothing here can panic.

use std::collections::BTreeMap;

use crate::quantity::Quantity;

/// A quantity of one resource in scheduling units.
pub type Amount = i64;

/// A (flavor, resource) pair: the unit quota is defined and charged in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlavorResource {
    /// ResourceFlavor name.
    pub flavor: String,
    /// Resource name.
    pub resource: String,
}

impl FlavorResource {
    /// A key for `flavor` and `resource`.
    pub fn new(flavor: &str, resource: &str) -> Self {
        Self {
            flavor: flavor.to_owned(),
            resource: resource.to_owned(),
        }
    }
}

/// Converts a quantity of `resource` to scheduling units (cpu in milli-units, rounded up).
pub fn amount_of(resource: &str, q: Quantity) -> Amount {
    let v = if resource == "cpu" {
        q.millis_ceil()
    } else {
        q.units_ceil()
    };
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Amounts per flavor-resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrAmounts(pub BTreeMap<FlavorResource, Amount>);

impl FrAmounts {
    /// The amount for `fr` (0 when absent).
    pub fn get(&self, fr: &FlavorResource) -> Amount {
        self.0.get(fr).copied().unwrap_or(0)
    }

    /// Adds `v` to `fr`.
    pub fn add(&mut self, fr: &FlavorResource, v: Amount) {
        let e = self.0.entry(fr.clone()).or_insert(0);
        *e = e.saturating_add(v);
    }

    /// Adds every amount of `other`.
    pub fn add_all(&mut self, other: &FrAmounts) {
        for (fr, v) in &other.0 {
            self.add(fr, *v);
        }
    }

    /// Subtracts every amount of `other`.
    pub fn sub_all(&mut self, other: &FrAmounts) {
        for (fr, v) in &other.0 {
            self.add(fr, v.saturating_neg());
        }
    }

    /// Whether no amount is positive.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|v| *v == 0)
    }
}

/// Requests per resource name.
pub type Requests = BTreeMap<String, Amount>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(amount_of("cpu", Quantity::parse("1500m").unwrap()), 1500);
        assert_eq!(amount_of("cpu", Quantity::parse("1n").unwrap()), 1);
        assert_eq!(amount_of("memory", Quantity::parse("1Ki").unwrap()), 1024);
        assert_eq!(
            amount_of("nvidia.com/gpu", Quantity::parse("500m").unwrap()),
            1
        );
        assert_eq!(
            amount_of("memory", Quantity::parse("7Ei").unwrap()),
            7 * (1 << 60)
        );
    }
}
