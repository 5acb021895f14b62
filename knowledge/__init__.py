"""The content pack: every sentence a learner reads, in Chinese and English."""
