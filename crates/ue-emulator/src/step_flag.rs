//! A `--step` flag read as the TOML table a scenario file would hold (both modes' steps): the
//! action's name, then `key=value` pairs: `"join ue=0 tmgi=000001 psi=1"` →
//! `do = "join"`, `ue = 0`, `tmgi = "000001"`, `psi = 1`.

/// The table text of a flag step; keys in `bare` are written unquoted (numbers, booleans), the
/// others as strings; `-` in the action's name is `_`.
pub fn table(text: &str, bare: &[&str], example: &str) -> Result<String, String> {
    let mut words = text.split_whitespace();
    let action = words
        .next()
        .ok_or_else(|| format!("empty step: write e.g. \"{example}\""))?;
    let mut table = format!("do = \"{}\"\n", action.replace('-', "_"));
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("step {text:?}: {word:?} is not key=value"))?;
        if bare.contains(&key) {
            table.push_str(&format!("{key} = {value}\n"));
        } else {
            table.push_str(&format!("{key} = \"{}\"\n", value.replace('"', "")));
        }
    }
    Ok(table)
}
