//! Union-find over record indices, where each set carries the identifiers it holds so that
//! a union that would join two different identifiers can be refused.

use std::collections::BTreeSet;

#[derive(Debug)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
    /// Distinct hard identifiers (resident ID, credit code) per root.
    ids: Vec<BTreeSet<String>>,
}

impl UnionFind {
    pub fn new(ids: Vec<BTreeSet<String>>) -> Self {
        let n = ids.len();
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
            ids,
        }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b` unless each holds an identifier the other lacks.
    /// Returns whether they are now one set.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (ia, ib) = (&self.ids[ra], &self.ids[rb]);
        if !ia.is_empty() && !ib.is_empty() && ia != ib {
            return false;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
        let moved = std::mem::take(&mut self.ids[small]);
        self.ids[big].extend(moved);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_conflicting_identifiers() {
        let ids = vec![
            BTreeSet::from(["A".to_owned()]),
            BTreeSet::new(),
            BTreeSet::from(["B".to_owned()]),
        ];
        let mut uf = UnionFind::new(ids);
        assert!(uf.union(0, 1));
        assert!(!uf.union(1, 2), "joining 1 to 2 would put A and B together");
        assert_ne!(uf.find(0), uf.find(2));
        assert_eq!(uf.find(0), uf.find(1));
    }
}
