//! Path templates: `/api/sales`, `/tenants/{tenant}/keys/{id}`, `/files/*rest`.

use std::fmt;

/// The most parameters (including a trailing catch-all) one template may capture.
pub const MAX_PARAMS: usize = 8;

/// The most segments a template may have.
pub const MAX_TEMPLATE_SEGMENTS: usize = 32;

/// The longest template accepted, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 1024;

/// One segment of a [`PathTemplate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Segment {
    /// Matches exactly this text.
    Literal(Box<str>),
    /// `{name}`: matches one non-empty segment.
    Param(Box<str>),
    /// `*name` or `{*name}`, last only: matches the non-empty rest of the path.
    CatchAll(Box<str>),
}

/// A parsed path template.
///
/// Segments are separated by `/`. A segment is literal text, a `{name}` parameter
/// (the whole segment), or, as the last segment only, a catch-all written `*name`
/// or `{*name}` (axum's spelling) that matches the rest of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    text: Box<str>,
    segments: Vec<Segment>,
}

impl PathTemplate {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        if text.len() > MAX_TEMPLATE_LEN {
            return Err(TemplateError::TooLong {
                max: MAX_TEMPLATE_LEN,
            });
        }
        let Some(body) = text.strip_prefix('/') else {
            return Err(TemplateError::NoLeadingSlash);
        };
        let raw: Vec<&str> = body.split('/').collect();
        if raw.len() > MAX_TEMPLATE_SEGMENTS {
            return Err(TemplateError::TooManySegments {
                max: MAX_TEMPLATE_SEGMENTS,
            });
        }
        let mut segments = Vec::with_capacity(raw.len());
        for (i, seg) in raw.iter().enumerate() {
            let last = i + 1 == raw.len();
            let parsed = parse_segment(seg)?;
            if matches!(parsed, Segment::CatchAll(_)) && !last {
                return Err(TemplateError::CatchAllNotLast);
            }
            if let Segment::Param(name) | Segment::CatchAll(name) = &parsed
                && segments
                    .iter()
                    .any(|s| matches!(s, Segment::Param(n) | Segment::CatchAll(n) if n == name))
            {
                return Err(TemplateError::DuplicateParam(name.to_string()));
            }
            segments.push(parsed);
        }
        let params = segments
            .iter()
            .filter(|s| !matches!(s, Segment::Literal(_)))
            .count();
        if params > MAX_PARAMS {
            return Err(TemplateError::TooManyParams { max: MAX_PARAMS });
        }
        Ok(PathTemplate {
            text: text.into(),
            segments,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The segments in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The names of the parameters, in capture order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::CatchAll(n) => Some(&**n),
            Segment::Literal(_) => None,
        })
    }
}

fn parse_segment(seg: &str) -> Result<Segment, TemplateError> {
    let catch_all = seg
        .strip_prefix("{*")
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| seg.strip_prefix('*'));
    if let Some(name) = catch_all {
        check_name(name)?;
        return Ok(Segment::CatchAll(name.into()));
    }
    if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        check_name(name)?;
        return Ok(Segment::Param(name.into()));
    }
    if let Some(bad) = seg
        .chars()
        .find(|c| matches!(c, '{' | '}' | '*' | '?' | '#'))
    {
        return Err(TemplateError::BadLiteral(bad));
    }
    Ok(Segment::Literal(seg.into()))
}

fn check_name(name: &str) -> Result<(), TemplateError> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(TemplateError::BadParamName(name.to_string()))
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a path template is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template does not start with `/`.
    #[error("a path template must start with '/'")]
    NoLeadingSlash,
    /// A catch-all segment that is not the last.
    #[error("a catch-all ('*rest') must be the last segment")]
    CatchAllNotLast,
    /// A parameter name that is empty or not an identifier.
    #[error("parameter name {0:?} is not an identifier")]
    BadParamName(String),
    /// Two parameters with one name.
    #[error("parameter {0:?} appears twice")]
    DuplicateParam(String),
    /// A literal segment holding a character reserved for templates, or a `{name}`
    /// that is not the whole segment.
    #[error("character {0:?} is not allowed in a literal segment (parameters are whole segments)")]
    BadLiteral(char),
    /// More than [`MAX_PARAMS`] parameters.
    #[error("more than {max} parameters")]
    TooManyParams {
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_TEMPLATE_SEGMENTS`] segments.
    #[error("more than {max} segments")]
    TooManySegments {
        /// The limit.
        max: usize,
    },
    /// Longer than [`MAX_TEMPLATE_LEN`].
    #[error("longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_params_and_catch_alls() {
        let t = PathTemplate::parse("/tenants/{tenant}/keys/{id}").unwrap();
        assert_eq!(t.param_names().collect::<Vec<_>>(), ["tenant", "id"]);
        let t = PathTemplate::parse("/files/*rest").unwrap();
        assert_eq!(t.segments()[1], Segment::CatchAll("rest".into()));
        let t = PathTemplate::parse("/files/{*rest}").unwrap();
        assert_eq!(t.segments()[1], Segment::CatchAll("rest".into()));
        assert_eq!(
            PathTemplate::parse("/").unwrap().segments(),
            [Segment::Literal("".into())]
        );
    }

    #[test]
    fn rejects_bad_templates() {
        use TemplateError as E;
        assert_eq!(PathTemplate::parse("api"), Err(E::NoLeadingSlash));
        assert_eq!(PathTemplate::parse("/a/*rest/b"), Err(E::CatchAllNotLast));
        assert_eq!(
            PathTemplate::parse("/a/{}"),
            Err(E::BadParamName(String::new()))
        );
        assert_eq!(
            PathTemplate::parse("/a/{1x}"),
            Err(E::BadParamName("1x".into()))
        );
        assert_eq!(
            PathTemplate::parse("/{a}/{a}"),
            Err(E::DuplicateParam("a".into()))
        );
        assert_eq!(PathTemplate::parse("/a/x{id}"), Err(E::BadLiteral('{')));
        assert_eq!(PathTemplate::parse("/a?b"), Err(E::BadLiteral('?')));
        let many: String = (0..9)
            .map(|i| format!("/{{p{i}}}"))
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(PathTemplate::parse(&many), Err(E::TooManyParams { max: 8 }));
        let deep = "/a".repeat(33);
        assert_eq!(
            PathTemplate::parse(&deep),
            Err(E::TooManySegments { max: 32 })
        );
        let long = format!("/{}", "a".repeat(1024));
        assert_eq!(PathTemplate::parse(&long), Err(E::TooLong { max: 1024 }));
    }
}
