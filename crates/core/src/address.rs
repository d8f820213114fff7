//! The parts of a structured address, stated once: the normaliser splits addresses into them,
//! mapping targets and golden records name them `address.<part>`, the resolver compares them,
//! and `schemas/address.avsc` publishes them (a test below keeps the schema file in step).

use crate::Classification;

/// One part of a structured address, from the coarsest to the finest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressPart {
    Province,
    City,
    District,
    Street,
    Community,
    Road,
    Number,
    Building,
    Unit,
    Room,
}

use AddressPart::*;

impl AddressPart {
    /// Every part, coarsest first.
    pub const ALL: [AddressPart; 10] = [
        Province, City, District, Street, Community, Road, Number, Building, Unit, Room,
    ];

    /// The part's name (`building`), as in `schemas/address.avsc`.
    pub const fn name(self) -> &'static str {
        match self {
            Province => "province",
            City => "city",
            District => "district",
            Street => "street",
            Community => "community",
            Road => "road",
            Number => "number",
            Building => "building",
            Unit => "unit",
            Room => "room",
        }
    }

    /// The part as a field of a record (`address.building`).
    pub const fn field(self) -> &'static str {
        match self {
            Province => "address.province",
            City => "address.city",
            District => "address.district",
            Street => "address.street",
            Community => "address.community",
            Road => "address.road",
            Number => "address.number",
            Building => "address.building",
            Unit => "address.unit",
            Room => "address.room",
        }
    }

    /// The classification of the part alone (inside a record the stricter of the part's and
    /// the containing field's applies): administrative divisions are public, the street and
    /// community internal, anything that finds a door personal.
    pub const fn classification(self) -> Classification {
        match self {
            Province | City | District => Classification::Public,
            Street | Community => Classification::Internal,
            Road | Number | Building | Unit | Room => Classification::Personal,
        }
    }

    pub const fn doc(self) -> &'static str {
        match self {
            Province => "province-level division (省/自治区/直辖市)",
            City => "prefecture-level city (市/州/盟)",
            District => "county-level division (区/县/县级市)",
            Street => "township-level division (街道/镇/乡)",
            Community => "community or village (社区/村)",
            Road => "road or street name",
            Number => "house number on the road",
            Building => "building (栋/幢/#/号楼)",
            Unit => "unit (单元)",
            Room => "room",
        }
    }

    /// The part of a name (`building`), if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The names of `parts`, in their order (for tables of parts kept as text).
pub const fn names<const N: usize>(parts: [AddressPart; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = parts[i].name();
        i += 1;
    }
    out
}

/// The record fields (`address.<part>`) of `parts`, in their order.
pub const fn fields<const N: usize>(parts: [AddressPart; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = parts[i].field();
        i += 1;
    }
    out
}

/// The whole address as one line: the field that holds it (`address`) and the first field of
/// `schemas/address.avsc` (`line`).
pub const LINE_DOC: &str = "the whole address as one line, canonical spelling";

#[cfg(test)]
mod tests {
    use super::*;

    /// `schemas/address.avsc` is `line` then every part, in order, each with the part's
    /// classification and doc.
    #[test]
    fn the_place_schema_file_states_the_parts() {
        let text = include_str!("../../../schemas/address.avsc");
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        let fields = schema["fields"].as_array().unwrap();
        let at = |i: usize, key: &str| fields[i][key].as_str().unwrap_or_default().to_owned();
        assert_eq!(fields.len(), 1 + AddressPart::ALL.len());
        assert_eq!(
            (at(0, "name"), at(0, "doc")),
            ("line".into(), LINE_DOC.into())
        );
        for (i, part) in AddressPart::ALL.into_iter().enumerate() {
            let class = Classification::parse(&at(i + 1, "classification"));
            assert_eq!(at(i + 1, "name"), part.name());
            assert_eq!(class, Some(part.classification()), "{part:?}");
            assert_eq!(at(i + 1, "doc"), part.doc(), "{part:?}");
        }
    }

    #[test]
    fn names_and_fields_agree() {
        for (p, (n, f)) in AddressPart::ALL.into_iter().zip(
            names(AddressPart::ALL)
                .into_iter()
                .zip(fields(AddressPart::ALL)),
        ) {
            assert_eq!(AddressPart::parse(n), Some(p));
            assert_eq!(f.strip_prefix("address."), Some(n));
        }
        assert_eq!(AddressPart::parse("rest"), None);
    }
}
