//! The campaign-file reader on arbitrary and mutated input (the real files of
//! `experiments/configs` with bytes deleted, tokens inserted, numbers and strings replaced by
//! extreme ones): an error or a valid value, never a panic. A bounded number of cases
//! (`PROPTEST_CASES` asks for more), so it runs in CI in about a second.

#[path = "../../primitives/tests/ron_mutation/mod.rs"]
mod ron_mutation;

use kas_campaign::CampaignFile;
use proptest::prelude::*;
use proptest::sample::Index;
use ron_mutation::{apply, config, edit};

const CAMPAIGNS: [&str; 5] = [
    include_str!("../../experiments/configs/cnn-fmnist.ron"),
    include_str!("../../experiments/configs/resnet18-fmnist64.ron"),
    include_str!("../../experiments/configs/standin-small.ron"),
    include_str!("../../experiments/configs/gpt-shakespeare.ron"),
    include_str!("../../experiments/configs/gpt-shakespeare-cpu.ron"),
];

/// Reads `text` as a campaign file; a value passes its own checks and survives a write and a
/// read back.
fn campaign(text: &str) {
    if let Ok(c) = CampaignFile::parse(text, "c.ron") {
        assert_eq!(c.validate(), Ok(()));
        let again = CampaignFile::parse(&c.to_text(), "again.ron").unwrap();
        assert_eq!(again, c);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_an_error_or_a_value(text in "[ -~\n]{0,300}") {
        campaign(&text);
    }

    #[test]
    fn a_mutated_campaign_file_is_an_error_or_a_value(
        edits in prop::collection::vec(edit(), 1..4),
        which in any::<Index>(),
    ) {
        campaign(&apply(CAMPAIGNS[which.index(CAMPAIGNS.len())], &edits));
    }
}

#[test]
fn the_unmutated_files_read() {
    for t in CAMPAIGNS {
        CampaignFile::parse(t, "c.ron").unwrap();
    }
}
