from outsidein.cli import main

main()
