//! Names as ids: a source may hand its name columns (user name, client
//! guid, client name) as dictionary indices instead of strings, each
//! dictionary entry given the id of its string once per load (`Interner`),
//! so that checking a row compares a few integers (`assemble`). Parquet's
//! reader does (parquet/dict.rs); any format could.

use crate::load::columns::Canon;
use polars::prelude::{NamedFrom, Series};
use polars_arrow::array::{Array, DictionaryArray, Utf8ViewArray};

/// The name columns, in the order of `NAMES`.
pub const NAMES: [Canon; 3] = [Canon::UserName, Canon::ClientGuid, Canon::ClientName];

/// Per row group of a batch: its three name columns as indices into that
/// row group's dictionaries, and per dictionary entry the id of its string.
pub struct DictNames {
    pub groups: Vec<[DictionaryArray<u32>; 3]>,
    pub ids: Vec<[Vec<u32>; 3]>,
}

impl DictNames {
    /// The client guids of the batch as text (for building sessions).
    pub fn guid_series(&self) -> Series {
        let values: Vec<Option<&str>> = self
            .groups
            .iter()
            .flat_map(|g| {
                let arr = &g[1];
                let dict = dict_values(arr);
                (0..arr.len()).map(move |i| {
                    (!arr.is_null(i)).then(|| dict.value(arr.keys().value(i) as usize))
                })
            })
            .collect();
        Series::new("client_guid".into(), values)
    }
}

/// The id of a missing name (empty or blank).
pub const MISSING: u32 = u32::MAX;

/// Each distinct name met in a load, and its id: equal names, equal ids.
/// The reader thread gives the dictionary entries of each batch their ids
/// while the batch before is checked, so the check compares integers.
#[derive(Default)]
pub struct Interner {
    names: polars::prelude::PlHashMap<Box<str>, u32>,
}

impl Interner {
    /// The id of a name; MISSING for an empty or blank one.
    pub fn id(&mut self, name: &str) -> u32 {
        if name.trim().is_empty() {
            return MISSING;
        }
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.insert(name.into(), id);
        id
    }

    /// Names read as dictionary indices, with the ids of their entries.
    pub fn names(&mut self, groups: Vec<[DictionaryArray<u32>; 3]>) -> DictNames {
        let ids = groups
            .iter()
            .map(|g| {
                g.each_ref()
                    .map(|a| dict_values(a).values_iter().map(|t| self.id(t)).collect())
            })
            .collect();
        DictNames { groups, ids }
    }
}

/// A dictionary's strings (`read` makes them `Utf8View`).
pub fn dict_values(a: &DictionaryArray<u32>) -> &Utf8ViewArray {
    a.values()
        .as_any()
        .downcast_ref::<Utf8ViewArray>()
        .expect("dictionaries of strings")
}
