"""One module per screen: grid editor, launch, trials, analysis, plus the modals."""
